import './api-key.schema.js';
