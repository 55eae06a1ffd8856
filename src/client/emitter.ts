type Listener<Payload> = (payload: Payload) => void;

interface Registration {
  // Method syntax, so a listener of any one event's payload fits.
  listener(payload: unknown): void;
  once: boolean;
}

/**
 * A small typed event emitter that runs in Node and in browsers alike (node:events does not bundle
 * for the browser). Listeners run synchronously in registration order; one that throws stops
 * `emit` as it would with Node's EventEmitter.
 */
export class TypedEmitter<Events extends Record<string, unknown>> {
  private readonly registrations = new Map<keyof Events, Registration[]>();

  on<Event extends keyof Events>(event: Event, listener: Listener<Events[Event]>): this {
    return this.register(event, { listener, once: false });
  }

  once<Event extends keyof Events>(event: Event, listener: Listener<Events[Event]>): this {
    return this.register(event, { listener, once: true });
  }

  /** Removes the listener's most recent registration, whether added with `on` or `once`. */
  off<Event extends keyof Events>(event: Event, listener: Listener<Events[Event]>): this {
    const list = this.registrations.get(event) ?? [];
    const index = list.map((entry) => entry.listener).lastIndexOf(listener);
    if (index !== -1) this.remove(event, list[index]!);
    return this;
  }

  /** Calls every listener of `event` with `payload`; false when there was none. */
  emit<Event extends keyof Events>(event: Event, payload: Events[Event]): boolean {
    const list = this.registrations.get(event);
    if (!list) return false;
    // A listener may add or remove listeners; this emission calls the ones registered when it began.
    for (const entry of [...list]) {
      if (entry.once) this.remove(event, entry);
      entry.listener(payload);
    }
    return true;
  }

  private register(event: keyof Events, registration: Registration): this {
    const list = this.registrations.get(event);
    if (list) list.push(registration);
    else this.registrations.set(event, [registration]);
    return this;
  }

  private remove(event: keyof Events, registration: Registration): void {
    const list = this.registrations.get(event);
    if (!list) return;
    const index = list.indexOf(registration);
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) this.registrations.delete(event);
  }
}
