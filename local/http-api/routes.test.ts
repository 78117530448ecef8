import { describe, expect, it } from 'vitest';
import { type CompiledRoute, compileRoute, InvalidRouteKeyError, selectRoute } from './routes.js';

const compileAll = (keys: string[]): CompiledRoute<string>[] => keys.map((key) => compileRoute(key, key));

const select = (keys: string[], method: string, path: string) => {
  const segments = path === '/' ? [] : path.slice(1).split('/');
  return selectRoute(compileAll(keys), method, segments);
};

describe('selectRoute', () => {
  // The example table of the developer guide's "Routing API requests", plus its $default.
  const guideRoutes = [
    'GET /pets/dog/1',
    'GET /pets/dog/{id}',
    'GET /pets/{proxy+}',
    'ANY /{proxy+}',
    '$default',
  ];

  it.each([
    ['GET', '/pets/dog/1', 'GET /pets/dog/1'],
    ['GET', '/pets/dog/2', 'GET /pets/dog/{id}'],
    ['GET', '/pets/cat/1', 'GET /pets/{proxy+}'],
    ['POST', '/test/5', 'ANY /{proxy+}'],
    ['POST', '/', '$default'],
  ])('routes %s %s to %s as the developer guide does', (method, path, expected) => {
    expect(select(guideRoutes, method, path)?.route.routeKey).toBe(expected);
  });

  it.each([
    {
      routes: ['ANY /items/{id}', 'GET /items/{id}'],
      method: 'GET',
      path: '/items/1',
      expected: 'GET /items/{id}',
    },
    {
      routes: ['ANY /items/{id}', 'GET /items/{id}'],
      method: 'DELETE',
      path: '/items/1',
      expected: 'ANY /items/{id}',
    },
    {
      routes: ['GET /items/{id}', 'ANY /items/new'],
      method: 'GET',
      path: '/items/new',
      expected: 'ANY /items/new',
    },
    { routes: ['GET /{a}/x', 'GET /a/{b}'], method: 'GET', path: '/a/x', expected: 'GET /a/{b}' },
    {
      routes: ['GET /{proxy+}', 'GET /a/{proxy+}'],
      method: 'GET',
      path: '/a/b/c',
      expected: 'GET /a/{proxy+}',
    },
    { routes: ['GET /a/{proxy+}', 'GET /{x}/b/c'], method: 'GET', path: '/a/b/c', expected: 'GET /{x}/b/c' },
    { routes: ['GET /a/{proxy+}', '$default'], method: 'GET', path: '/a', expected: '$default' },
    { routes: ['GET /a', '$default'], method: 'POST', path: '/a', expected: '$default' },
    { routes: ['GET /', 'ANY /{proxy+}'], method: 'GET', path: '/', expected: 'GET /' },
  ])('prefers $expected for $method $path among $routes', ({ routes, method, path, expected }) => {
    expect(select(routes, method, path)?.route.routeKey).toBe(expected);
  });

  it('finds nothing when no route matches and there is no $default', () => {
    expect(select(['GET /a'], 'GET', '/b')).toBeUndefined();
  });

  it('hands the greedy variable the rest of the path', () => {
    expect(select(['ANY /files/{path+}'], 'GET', '/files/a/b/c.txt')?.pathParameters).toEqual({
      path: 'a/b/c.txt',
    });
  });

  it('leaves pathParameters out when the route has no variables', () => {
    expect(select(['GET /a'], 'GET', '/a')?.pathParameters).toBeUndefined();
  });
});

describe('compileRoute', () => {
  it.each([
    'GET',
    'GET pets',
    'FETCH /pets',
    'GET /pets/{proxy+}/more',
    'GET /pets//x',
    'GET /pets/{id}/{id}',
    'GET /pets/{id',
  ])('rejects %j as API Gateway would', (routeKey) => {
    expect(() => compileRoute(routeKey, null)).toThrow(InvalidRouteKeyError);
  });
});
