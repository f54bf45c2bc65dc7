import './subscriber.schema.js';
