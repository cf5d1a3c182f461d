import { z } from 'zod';

/**
 * What the app accepts from Allegro, after the spec (openapi-messaging.yaml): fields the app uses are
 * checked, unknown ones are ignored so that Allegro can add fields without breaking the app.
 */
export const tokenResponse = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  token_type: z.string().regex(/^bearer$/i),
  expires_in: z.number().int().positive(),
  scope: z.string().optional(),
});
export type TokenResponse = z.infer<typeof tokenResponse>;

export const oauthError = z.object({ error: z.string().min(1), error_description: z.string().optional() });

export const meResponse = z.object({
  id: z.string().min(1),
  login: z.string().min(1),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  email: z.string().optional(),
  company: z.object({ name: z.string().nullable().optional() }).nullable().optional(),
});
export type Me = z.infer<typeof meResponse>;

const interlocutor = z.object({ login: z.string(), avatarUrl: z.string().optional() }).nullable().optional();

export const thread = z.object({
  id: z.string().min(1),
  read: z.boolean(),
  lastMessageDateTime: z.string().nullable().optional(),
  interlocutor,
});
export type Thread = z.infer<typeof thread>;

export const threadsList = z.object({ threads: z.array(thread), offset: z.number().int().min(0), limit: z.number().int().min(0) });
export type ThreadsList = z.infer<typeof threadsList>;

export const message = z.object({
  id: z.string().min(1),
  status: z.string(),
  type: z.string(),
  createdAt: z.string(),
  thread: z.object({ id: z.string() }),
  author: z.object({ login: z.string(), isInterlocutor: z.boolean() }),
  text: z.string(),
});
export type Message = z.infer<typeof message>;

export const messagesList = z.object({ messages: z.array(message), offset: z.number().int().min(0), limit: z.number().int().min(0) });
export type MessagesList = z.infer<typeof messagesList>;

/** Allegro's error body: {"errors":[{code, message, details, path, userMessage, metadata}]}. */
export const errorsHolder = z.object({
  errors: z.array(
    z.object({
      code: z.string().optional(),
      message: z.string().optional(),
      userMessage: z.string().optional(),
      path: z.string().nullable().optional(),
      details: z.string().nullable().optional(),
    }),
  ),
});
export type AllegroErrorItem = z.infer<typeof errorsHolder>['errors'][number];
