import './analytics.schema.js';
