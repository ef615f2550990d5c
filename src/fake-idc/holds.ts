import type { FakeRequest } from "./http.js";

/** A request the fake keeps unanswered until the test lets it go: a service slow to answer. */
export interface RequestHold {
  /** Resolves once the held request has come in. */
  readonly arrived: Promise<void>;
  /** Lets it be answered, from the fake's state as it is then; one not come in yet is not held. */
  release(): void;
}

interface Hold {
  path: string;
  arrive: () => void;
  released: Promise<void>;
}

function signal(): { promise: Promise<void>; fire: () => void } {
  let fire = () => {};
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}

/** Holds armed with `holdNext`, each taking the next request to its path. */
export class HoldQueue {
  private readonly armed: Hold[] = [];

  add(path: string): RequestHold {
    const arrived = signal();
    const released = signal();
    const hold: Hold = { path, arrive: arrived.fire, released: released.promise };
    this.armed.push(hold);
    return {
      arrived: arrived.promise,
      release: () => {
        const index = this.armed.indexOf(hold);
        if (index >= 0) this.armed.splice(index, 1);
        released.fire();
      },
    };
  }

  /** Resolves when the request may be answered: at once, or once the hold that took it is released. */
  async wait(req: FakeRequest): Promise<void> {
    const index = this.armed.findIndex((h) => h.path === req.path);
    const hold = this.armed[index];
    if (!hold) return;
    this.armed.splice(index, 1);
    hold.arrive();
    await hold.released;
  }
}
