import { builder } from '../builder.js';
import { LOCALES } from './locale.js';

export const LocaleEnum = builder.enumType('Locale', {
  description: 'Content language. Polish falls back to English where a translation is missing.',
  values: LOCALES,
});

/** English required, Polish optional: every localized text an editor writes. */
export const LocalizedTextInput = builder.inputType('LocalizedTextInput', {
  fields: (t) => ({
    en: t.string({ required: true }),
    pl: t.string({ description: 'Optional; Polish readers get English when missing.' }),
  }),
});
