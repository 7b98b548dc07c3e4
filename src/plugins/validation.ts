import fp from 'fastify-plugin';
import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * Two validators: JSON bodies are checked strictly (a number is not a string: ARM clients send typed JSON, and a
 * wrong type is the caller's mistake to hear about), while path and query strings are coerced to the declared types.
 */
export default fp(
  async (app) => {
    const shared: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false };
    const ajvFor = (coerceTypes: Options['coerceTypes']) => {
      const ajv = new Ajv({ ...shared, coerceTypes });
      addFormats.default(ajv);
      return ajv;
    };
    const body = ajvFor(false);
    const strings = ajvFor('array');
    app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? body : strings).compile(schema));
  },
  { name: 'validation' },
);
