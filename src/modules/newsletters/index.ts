import './newsletter.schema.js';
