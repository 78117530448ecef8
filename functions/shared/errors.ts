/** One field that failed validation, as an RFC 6901 JSON pointer into the request part it came from. */
export interface FieldError {
  pointer: string;
  detail: string;
}

/**
 * Base of the errors a handler may throw on purpose. The HTTP error middleware turns them into
 * RFC 9457 problem+json; anything else becomes a 500 whose details stay in the logs.
 */
/** The field errors of a problem with one field: its JSON pointer and what is wrong with it. */
export const problem = (pointer: string, detail: string): FieldError[] => [{ pointer, detail }];

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

export class BadRequestError extends ProblemError {
  constructor(detail: string, errors: FieldError[] = []) {
    super(400, 'Bad Request', detail, errors.length > 0 ? { errors } : {});
  }
}

export class UnauthorizedError extends ProblemError {
  constructor(detail = 'A valid token is required.') {
    super(401, 'Unauthorized', detail);
  }
}

export class ForbiddenError extends ProblemError {
  constructor(detail = 'Your role does not allow this operation.', errors: FieldError[] = []) {
    super(403, 'Forbidden', detail, errors.length > 0 ? { errors } : {});
  }
}

/** Also answers for ids outside the caller's tenancy, so that their existence is not revealed. */
export class NotFoundError extends ProblemError {
  constructor(detail = 'No such resource.') {
    super(404, 'Not Found', detail);
  }
}

/** The request is valid but the resource's state refuses it (an id taken, a vote closed). */
export class ConflictError extends ProblemError {
  constructor(detail: string, errors: FieldError[] = []) {
    super(409, 'Conflict', detail, errors.length > 0 ? { errors } : {});
  }
}

export class PreconditionFailedError extends ProblemError {
  constructor(detail = 'The resource changed since you read it.') {
    super(412, 'Precondition Failed', detail);
  }
}

export class PayloadTooLargeError extends ProblemError {
  constructor(detail: string) {
    super(413, 'Payload Too Large', detail);
  }
}

export class UnsupportedMediaTypeError extends ProblemError {
  constructor(detail: string) {
    super(415, 'Unsupported Media Type', detail);
  }
}
