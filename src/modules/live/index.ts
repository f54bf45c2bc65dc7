import './live.schema.js';
