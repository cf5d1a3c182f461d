import type { FastifyPluginAsync } from 'fastify';
import signIn from './sign-in.js';
import overview from './overview.js';
import accounts from './accounts.js';
import account from './account.js';
import jobs from './jobs.js';
import users from './users.js';

/** The support console under /staff, one file per area. Every route but sign-in names its role. */
const staff: FastifyPluginAsync = async (fastify) => {
  await fastify.register(signIn);
  await fastify.register(overview);
  await fastify.register(accounts);
  await fastify.register(account);
  await fastify.register(jobs);
  await fastify.register(users);
};

export default staff;
