import fp from 'fastify-plugin';
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * Two validators: JSON bodies are checked strictly (a number is not a string: ARM clients send typed JSON, and a
 * wrong type is the caller's mistake to hear about), while path and query strings are coerced to the declared types.
 * Both refuse U+0000 anywhere in what they check (names, keys, values): PostgreSQL can store it in neither text nor
 * jsonb, so it would otherwise surface as a database error deep inside a request.
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
    app.setValidatorCompiler(({ schema, httpPart }) =>
      refusingNul((httpPart === 'body' ? body : strings).compile(schema)),
    );
  },
  { name: 'validation' },
);

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

function refusingNul(validate: ValidateFunction): Validator {
  const check: Validator = (data) => {
    const at = nulAt(data);
    if (at !== undefined) {
      check.errors = [
        {
          instancePath: at,
          schemaPath: '#',
          keyword: 'nul',
          params: {},
          message: 'must not contain the character U+0000',
        },
      ];
      return false;
    }
    const valid = validate(data);
    check.errors = validate.errors;
    return valid;
  };
  return check;
}

/** The JSON pointer of the first string (or key) holding U+0000, if any; iterative, as a body may nest deeply. */
function nulAt(root: unknown): string | undefined {
  const stack: [unknown, string][] = [[root, '']];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [value, at] = next;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return at;
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        if (key.includes('\u0000')) return at;
        stack.push([child, `${at}/${key}`]);
      }
    }
  }
  return undefined;
}
