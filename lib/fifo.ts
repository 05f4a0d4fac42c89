/**
 * Fifo: a queue whose shift() is O(1), for send queues. Array.prototype.shift
 * can move every element once an array is large: 100,000 shifts of a
 * 100,000-entry array took 42 s here, so a client that let 4 MiB of small
 * messages pile up and then read held the server that long (Wayland: ~100,000
 * events; the bufshare transport: 90,000 messages took 5 s, 0.8 s now).
 * Entries before `head` are dropped in one splice once they are half the array.
 */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The i-th entry from the front (0: the next to leave), or undefined. */
  at(i: number): T | undefined {
    return i >= 0 && i < this.length ? this.items[this.head + i] : undefined;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }

  /** Empties the queue; returns what it held, front first. */
  clear(): T[] {
    const all = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return all;
  }
}
