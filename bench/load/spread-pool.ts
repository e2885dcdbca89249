/**
 * Keep-alive connections used the way many independent clients use theirs: each request goes to a
 * connection picked at random (an idle one when a few tries find it), so every connection carries
 * traffic all the time.
 *
 * undici's Pool always takes the first idle connection. Over a long open-loop run that leaves all
 * but a handful idle, nginx closes them after its 75 s keep-alive timeout, and the next stall
 * reopens hundreds together: TLS handshakes that blocked the soak's generator for 200-400 ms
 * (soak run 13: generator lag max 211-403 ms in exactly the minutes whose p99 jumped). Spread at
 * random, no connection idles, and the ones nginx retires after its 1,000 requests each fall due at
 * scattered times instead of all at once.
 */
import { Client, type Dispatcher } from "undici";
import { IDLE_KEEP_ALIVE_MS, warmRequest, type RequestPool } from "./fixed-rate.js";
import { targetOrigin, type HttpTarget } from "./target.js";

/** Random picks tried for an idle connection before the request queues on the last one. */
const IDLE_TRIES = 4;

export class SpreadPool implements RequestPool {
  private readonly clients: Client[];
  /** Requests in flight per connection (sent, not yet answered or failed). */
  private readonly inFlight: Uint32Array;

  constructor(
    private readonly target: HttpTarget,
    readonly connections: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!Number.isInteger(connections) || connections < 1) {
      throw new RangeError(`connections must be a positive integer, got ${connections}`);
    }
    this.clients = Array.from(
      { length: connections },
      () =>
        new Client(targetOrigin(target), {
          pipelining: 1,
          keepAliveTimeout: IDLE_KEEP_ALIVE_MS,
          keepAliveMaxTimeout: IDLE_KEEP_ALIVE_MS,
          ...(target.tls === undefined ? {} : { connect: { ca: target.tls.ca } }),
        }),
    );
    this.inFlight = new Uint32Array(connections);
  }

  /** The connection the next request goes to: the first idle one of a few random picks. */
  pick(): number {
    let index = 0;
    for (let attempt = 0; attempt < IDLE_TRIES; attempt++) {
      index = Math.floor(this.random() * this.connections);
      if (this.inFlight[index] === 0) break;
    }
    return index;
  }

  request(options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
    return this.requestOn(this.pick(), options);
  }

  /** Sends one request on every connection at once, so each is open before anything is measured. */
  async warm(): Promise<void> {
    await Promise.allSettled(
      this.clients.map((_, index) =>
        this.requestOn(index, warmRequest(this.target)).then((r) => r.body.dump()),
      ),
    );
  }

  async destroy(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.destroy()));
  }

  private requestOn(index: number, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
    this.inFlight[index]! += 1;
    const done = () => {
      this.inFlight[index]! -= 1;
    };
    return this.clients[index]!.request(options).then(
      (response) => {
        // The connection is free once the body is read; callers always read or dump it.
        response.body.once("close", done);
        return response;
      },
      (err: unknown) => {
        done();
        throw err;
      },
    );
  }
}
