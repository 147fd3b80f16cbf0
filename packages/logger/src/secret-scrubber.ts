import type { DestinationStream } from 'pino';

/**
 * Wraps a log destination and replaces every occurrence of a known secret with `[REDACTED]`.
 * Path-based redaction catches headers and fields we know about; this catches the rest — a key
 * inside an error message, a URL, or a nested object nobody thought of.
 */
export class SecretScrubber implements DestinationStream {
  private readonly secrets: string[];

  constructor(
    private readonly destination: DestinationStream,
    secrets: Iterable<string>,
  ) {
    // Longest first, so a key that contains another key is replaced whole.
    this.secrets = [...new Set(secrets)]
      .filter((s) => s.length >= 6)
      .sort((a, b) => b.length - a.length);
  }

  write(line: string): void {
    let scrubbed = line;
    for (const secret of this.secrets) {
      if (scrubbed.includes(secret)) scrubbed = scrubbed.replaceAll(secret, '[REDACTED]');
      const encoded = Buffer.from(secret).toString('base64');
      if (scrubbed.includes(encoded)) scrubbed = scrubbed.replaceAll(encoded, '[REDACTED]');
    }
    this.destination.write(scrubbed);
  }
}
