import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How long, and how many bytes, a refused upload's connection is read and discarded before it closes. */
export interface LingerLimits {
  ms: number;
  bytes: number;
}

export const DEFAULT_LINGER: LingerLimits = { ms: 5_000, bytes: 64 * 1024 * 1024 };

/**
 * For a request answered before its body has arrived (an upload refused as too large, over quota, or
 * unauthorized while the client is still sending): answer with `Connection: close`, then close the way
 * nginx's `lingering_close` does. Closing a socket with the client's bytes unread makes the kernel send a
 * reset, and a reset can destroy the answer in the client's receive buffer before the client reads it: the
 * client then sees ECONNRESET or EPIPE on its next write, never the 413. So once the answer is written the
 * server half-closes, goes on reading and discarding what the client still sends, and closes when the
 * client does, or after `limits` (time or bytes), whichever comes first. Keeping such a connection alive
 * instead would leave the server reading the unwanted body for as long as the request timeout allows.
 *
 * Call it before the answer is sent, and send the answer with `Connection: close`.
 */
export function lingerAfterAnswer(request: IncomingMessage, limits: LingerLimits = DEFAULT_LINGER): void {
  const socket = request.socket as Socket & { destroySoon?: () => void };
  // The route began reading the body, so Node will not drain it by itself once the answer is sent.
  let discarded = 0;
  request.on('data', (chunk: Buffer) => {
    discarded += chunk.byteLength;
    if (discarded > limits.bytes) socket.destroy();
  });
  request.resume();
  // Node ends a `Connection: close` response with socket.destroySoon(): a close as soon as the answer is
  // flushed, unread bytes or not. Only this socket is changed, and only for its last response.
  socket.destroySoon = () => {
    const timer = setTimeout(() => socket.destroy(), limits.ms);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.end();
  };
}
