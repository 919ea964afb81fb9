/** Errors of the AWS ALB renderer. */

/** Arguments an ALB cannot express (limits on rule conditions, priorities, names, health checks). */
export class AlbCanaryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AlbCanaryError";
  }
}
