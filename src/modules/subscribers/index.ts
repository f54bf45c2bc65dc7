import './subscriber.schema.js';
import './subscriber-api.schema.js';
