import './topic.schema.js';
