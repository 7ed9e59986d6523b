/**
 * Runs async jobs one at a time, in call order. A `Segmenter` owns one: its model graph, its
 * post-processing buffers and its overlay graphs are shared by every call, so a second call may
 * only start once the first has read back what it needs. A failed job does not stop the queue.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  /** Starts `job` after every job queued before it has settled; resolves or rejects as it does. */
  run<T>(job: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(job);
    this.tail = result.then(
      () => void this.pending--,
      () => void this.pending--,
    );
    return result;
  }

  /** Jobs queued or running. */
  get size(): number {
    return this.pending;
  }
}
