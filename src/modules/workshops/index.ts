import './workshop.schema.js';
import './enrollment.schema.js';
