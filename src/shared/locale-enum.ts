import { builder } from '../builder.js';
import { LOCALES } from './locale.js';

export const LocaleEnum = builder.enumType('Locale', {
  description: 'Content language. Polish falls back to English where a translation is missing.',
  values: LOCALES,
});

/** The `locale` argument every localized field takes; defaults to the request's Accept-Language. */
export const localeArg = () => builder.args((t) => ({ locale: t.field({ type: LocaleEnum, required: false }) }));

/** English required, Polish optional: every localized text an editor writes. */
export const LocalizedTextInput = builder.inputType('LocalizedTextInput', {
  fields: (t) => ({
    en: t.string({ required: true }),
    pl: t.string({ description: 'Optional; Polish readers get English when missing.' }),
  }),
});
