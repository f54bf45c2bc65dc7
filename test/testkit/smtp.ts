import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';

export interface ReceivedMail {
  messageId: string;
  to: string[];
  raw: string;
}

export interface TestSmtpServer {
  url: string;
  port: number;
  /** Messages the server answered 250 for, in order. */
  received: ReceivedMail[];
  /** How many times each Message-ID was accepted. */
  countsByMessageId(): Map<string, number>;
  /** The next `n` messages are refused with a temporary error (451). */
  failNext(n: number): void;
  /** Every message is refused for good (550) while on. */
  refuseAll(on: boolean): void;
  /**
   * While on, messages are read but never answered (the sender waits): a sender killed meanwhile
   * has nothing accepted. Turning it off refuses the held ones (451), as a server restart would.
   */
  hold(on: boolean): void;
  close(): Promise<void>;
}

/** A real SMTP server over TCP on a free loopback port (no auth, no TLS), counting what it accepts. */
export async function startSmtpServer(): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  let failures = 0;
  let refusing = false;
  let holding = false;
  const held: ((error?: Error) => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 1024 * 1024,
    onData(stream: SMTPServerDataStream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const reply = (error?: Error & { responseCode?: number }) => callback(error ?? null);
        if (holding) return void held.push((error) => reply(error));
        if (refusing) return reply(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
        if (failures > 0) {
          failures--;
          return reply(Object.assign(new Error('try again later'), { responseCode: 451 }));
        }
        const messageId = /^Message-ID:\s*(<[^>]+>)/im.exec(raw)?.[1] ?? '';
        received.push({ messageId, to: session.envelope.rcptTo.map((r) => r.address), raw });
        reply();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    received,
    countsByMessageId() {
      const counts = new Map<string, number>();
      for (const mail of received) counts.set(mail.messageId, (counts.get(mail.messageId) ?? 0) + 1);
      return counts;
    },
    failNext: (n) => void (failures = n),
    refuseAll: (on) => void (refusing = on),
    hold(on) {
      holding = on;
      if (!on) for (const release of held.splice(0)) release(Object.assign(new Error('restarting'), { responseCode: 451 }));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
