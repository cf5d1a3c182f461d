// hoodiecrow-imap ships no types: only what the Google simulator uses of it.
declare module 'hoodiecrow-imap' {
  import type { EventEmitter } from 'node:events';
  import type { Server, Socket } from 'node:net';

  export interface ImapAttribute {
    type: string;
    value?: unknown;
    section?: ImapAttribute[];
  }
  export interface ImapCommand {
    tag: string;
    command: string;
    attributes?: ImapAttribute[];
  }
  export interface ImapConnection {
    server: HoodiecrowServer;
    state: 'Not Authenticated' | 'Authenticated' | 'Selected' | 'Logout';
    socket: Socket | null;
    inputHandler: false | ((line: string) => void);
    _notificationCallback: (...args: unknown[]) => void;
    send(response: ImapCommand, description: string, parsed?: unknown, data?: unknown): void;
  }
  export type CommandHandler = (connection: ImapConnection, parsed: ImapCommand, data: string, callback: () => void) => void;
  export interface HoodiecrowMessage {
    raw: string;
    flags?: string[];
    internaldate?: Date | string;
  }
  export interface HoodiecrowOptions {
    secureConnection?: boolean;
    credentials?: { key: string; cert: string };
    plugins?: string[];
    users?: Record<string, { password: string }>;
    storage?: Record<string, { messages?: HoodiecrowMessage[]; separator?: string; type?: string; folders?: Record<string, unknown> }>;
  }
  export interface HoodiecrowServer extends EventEmitter {
    server: Server;
    options: HoodiecrowOptions;
    capabilities: Record<string, (connection: ImapConnection) => boolean>;
    listen(port: number, host: string, callback?: () => void): void;
    close(callback?: (err?: Error) => void): void;
    createClient(socket: Socket): void;
    setCommandHandler(command: string, handler: CommandHandler): void;
    registerCapability(keyword: string, handler?: (connection: ImapConnection) => boolean): void;
  }
  export default function hoodiecrow(options?: HoodiecrowOptions): HoodiecrowServer;
}
