/** A caller of the local cloud's HTTP API for the end-to-end tests, with a default token. */

export interface Answer {
  status: number;
  /** The parsed JSON body (undefined for another media type or an empty body). */
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  body: any;
  type: string;
  text: string;
}

export interface RequestInit {
  method?: string;
  token?: string;
  body?: unknown;
  csv?: string;
}

/**
 * `api` answers whatever the API answers; `ok` throws on a status of 300 or more. A request with a body
 * or CSV is a POST unless it names its method. `defaultToken` is read at each call.
 */
export const apiClient = (baseUrl: () => string, defaultToken: () => string) => {
  const api = async (route: string, init: RequestInit = {}): Promise<Answer> => {
    const response = await fetch(`${baseUrl()}${route}`, {
      method: init.method ?? (init.body === undefined && init.csv === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${init.token ?? defaultToken()}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(init.csv !== undefined ? { 'content-type': 'text/csv' } : {}),
      },
      body: init.csv ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
    });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    return {
      status: response.status,
      type,
      text,
      body: type.includes('json') && text !== '' ? JSON.parse(text) : undefined,
    };
  };
  const ok = async (route: string, init: RequestInit = {}) => {
    const answer = await api(route, init);
    if (answer.status >= 300) throw new Error(`${route}: ${answer.status} ${answer.text}`);
    return answer.body;
  };
  return { api, ok };
};
