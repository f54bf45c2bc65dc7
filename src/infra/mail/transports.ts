import { createHmac } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Stable per outbox row (`<row id@host>`), so a receiver can tell a re-sent message from a new one. */
  messageId: string;
  headers: Record<string, string>;
}

export interface MailTransport {
  readonly kind: 'smtp' | 'file';
  /** Resolves once the transport accepted the message (the SMTP server answered 250, the file is written). */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** SMTP through nodemailer with pooled connections (one TLS handshake per connection, not per message). */
export function smtpTransport(url: string, from: string, maxConnections = 5): MailTransport {
  const transport = nodemailer.createTransport({ url, pool: true, maxConnections, maxMessages: 500, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 } as never);
  return {
    kind: 'smtp',
    async send(mail) {
      await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, messageId: mail.messageId, headers: mail.headers });
    },
    close: () => transport.close(),
  };
}

/**
 * Development's mailbox: each message as an .eml file (open it in any mail client, or read it as
 * text) in `dir`, named by time and outbox row. Written to a temporary name and renamed, so a
 * reader never sees half a message.
 */
export function fileTransport(dir: string, from: string): MailTransport {
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    kind: 'file',
    async send(mail) {
      const info = (await composer.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, messageId: mail.messageId, headers: mail.headers })) as { message: Buffer };
      await mkdir(dir, { recursive: true });
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${mail.messageId.replace(/[^A-Za-z0-9-]/g, '')}.eml`;
      const temporary = join(dir, `.${name}.tmp`);
      await writeFile(temporary, info.message);
      await rename(temporary, join(dir, name));
    },
    close: () => composer.close(),
  };
}

/** The header a webhook receiver checks: `sha256=<hex HMAC-SHA256 of the raw body with the shared secret>`. */
export const WEBHOOK_SIGNATURE_HEADER = 'x-workshops-signature';

export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Chat integrations (Slack/Discord-style incoming webhooks): a JSON POST signed with HMAC-SHA256
 * over the exact body. `text` is what Slack shows, `content` what Discord shows. A non-2xx answer
 * is a failure (the job retries).
 */
export async function postWebhook(url: string, secret: string, message: { text: string; [key: string]: unknown }, timeoutMs = 10_000): Promise<void> {
  const body = JSON.stringify({ ...message, content: message.text });
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [WEBHOOK_SIGNATURE_HEADER]: webhookSignature(secret, body) },
    body,
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`webhook answered ${response.status}`);
}
