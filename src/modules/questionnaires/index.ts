import './questionnaire.schema.js';
import './questionnaire-mutations.schema.js';
