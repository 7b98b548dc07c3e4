import fp from 'fastify-plugin';

/** From this length on (UTF-16 units) a body goes to the socket as one Buffer. */
const LARGE = 64 * 1024;

/**
 * Large answers (a page of 200 protected items is ~300 KB of JSON) are handed to Node's HTTP layer as a Buffer.
 * Handed a string, the body is copied twice on the V8 heap on its way out — Fastify measures its byte length, which
 * flattens the serializer's concatenated string, and Node prepends the response head to it, which the socket write
 * flattens again before encoding — where a Buffer costs one flattening and one encoding. On a small young
 * generation those copies are garbage collections (bench/RESULTS.md). Registered after the serialization check,
 * which compares the text.
 */
export default fp(
  async (app) => {
    app.addHook('onSend', (_request, _reply, payload, done) => {
      done(null, typeof payload === 'string' && payload.length >= LARGE ? Buffer.from(payload) : payload);
    });
  },
  { name: 'large-bodies', dependencies: ['serialization-check'] },
);
