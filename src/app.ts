import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import fastifyFormbody from '@fastify/formbody';
import helmet from 'helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import servicesPlugin, { type ServicesPluginOptions } from './plugins/services.js';
import viewsPlugin from './plugins/views.js';
import errorsPlugin, { rateLimitError } from './plugins/errors.js';
import authPlugin, { cookieSecret } from './plugins/auth.js';
import fastifyCookie from '@fastify/cookie';
import healthRoutes from './routes/health.js';
import homeRoutes from './routes/home.js';
import sellerSignInRoutes from './routes/sign-in.js';
import sellerRoutes from './routes/seller.js';
import v3Routes from './routes/v3.js';
import staffAuthPlugin from './plugins/staff-auth.js';
import staffRoutes from './routes/staff/index.js';

export type AppOptions = ServicesPluginOptions;

/**
 * The whole application as one plugin: infrastructure first, then services, then routes. The
 * process shell (server.ts) and the tests register this very plugin; behaviour is chosen by the
 * options passed in, never by NODE_ENV.
 */
async function app(fastify: FastifyInstance, opts: AppOptions) {
  await fastify.register(servicesPlugin, opts);
  await fastify.register(fastifyCookie, { secret: cookieSecret(fastify.services.secrets.keyring) });
  await fastify.register(fastifyFormbody, { bodyLimit: 64 * 1024 });
  // Security headers. They never change, so helmet's middleware is built once here: @fastify/helmet
  // built a new one (options parsed, CSP normalised) for every request, 7-15 µs of CPU each against
  // under 1 µs for the built one (bench/profile-seller.ts times every hook).
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        // The "authorize at Allegro" button posts here and is redirected to Allegro's consent page;
        // Chrome applies form-action to that redirect too.
        formAction: ["'self'", new URL(opts.config.allegro.authUrl).origin],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'same-origin' },
    strictTransportSecurity: opts.config.https,
  });
  fastify.addHook('onRequest', (request, reply, done) => securityHeaders(request.raw, reply.raw, (err?: unknown) => done(err as Error | undefined)));
  await fastify.register(fastifyRateLimit, { global: false, errorResponseBuilder: (_request, ctx) => rateLimitError(ctx) });
  await fastify.register(viewsPlugin);
  await fastify.register(authPlugin);
  await fastify.register(staffAuthPlugin);
  await fastify.register(errorsPlugin);
  // A signed-in page holds personal data: no browser or proxy may keep it (a shared computer's back
  // button after signing out shows nothing).
  fastify.addHook('onSend', async (request, reply, payload) => {
    if ((request.seller || request.staff) && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  // Request duration by route pattern for /metrics ('/staff/accounts/:id', never the id itself).
  fastify.addHook('onResponse', (request, reply, done) => {
    fastify.ops.metrics.request(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  await fastify.register(healthRoutes);
  await fastify.register(homeRoutes);
  await fastify.register(sellerSignInRoutes);
  await fastify.register(sellerRoutes);
  await fastify.register(v3Routes);
  await fastify.register(staffRoutes);
}

export default fp(app, { name: 'app', fastify: '5.x' });
