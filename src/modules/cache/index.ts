import './response-cache.schema.js';
