import './jobs.schema.js';
