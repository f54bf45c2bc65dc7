import './audit.schema.js';
