/**
 * @peculiar/x509 resolves its algorithms through tsyringe, which refuses to load unless a Reflect metadata
 * polyfill is present, and the project installs none (`reflect-metadata` is not a dependency). This is the
 * small subset tsyringe calls — define/get/getOwn/has metadata, plus `metadata` for decorators — and it
 * steps aside when a real polyfill is already loaded. Import it before `@peculiar/x509`.
 */
type MetadataTarget = object;
type PropertyKeyOrNone = string | symbol | undefined;

interface ReflectMetadataApi {
  defineMetadata(key: unknown, value: unknown, target: MetadataTarget, property?: PropertyKeyOrNone): void;
  getOwnMetadata(key: unknown, target: MetadataTarget, property?: PropertyKeyOrNone): unknown;
  getMetadata(key: unknown, target: MetadataTarget, property?: PropertyKeyOrNone): unknown;
  hasMetadata(key: unknown, target: MetadataTarget, property?: PropertyKeyOrNone): boolean;
  metadata(key: unknown, value: unknown): (target: MetadataTarget, property?: PropertyKeyOrNone) => void;
}

const reflect = Reflect as typeof Reflect & Partial<ReflectMetadataApi>;

if (typeof reflect.getMetadata !== 'function') {
  const store = new WeakMap<MetadataTarget, Map<PropertyKeyOrNone, Map<unknown, unknown>>>();

  const ownMap = (target: MetadataTarget, property: PropertyKeyOrNone, create: boolean) => {
    let byProperty = store.get(target);
    if (!byProperty) {
      if (!create) return undefined;
      byProperty = new Map();
      store.set(target, byProperty);
    }
    let byKey = byProperty.get(property);
    if (!byKey && create) {
      byKey = new Map();
      byProperty.set(property, byKey);
    }
    return byKey;
  };

  const api: ReflectMetadataApi = {
    defineMetadata(key, value, target, property) {
      ownMap(target, property, true)?.set(key, value);
    },
    getOwnMetadata(key, target, property) {
      return ownMap(target, property, false)?.get(key);
    },
    getMetadata(key, target, property) {
      for (let current: MetadataTarget | null = target; current; current = Object.getPrototypeOf(current)) {
        const byKey = ownMap(current, property, false);
        if (byKey?.has(key)) return byKey.get(key);
      }
      return undefined;
    },
    hasMetadata(key, target, property) {
      for (let current: MetadataTarget | null = target; current; current = Object.getPrototypeOf(current)) {
        if (ownMap(current, property, false)?.has(key)) return true;
      }
      return false;
    },
    metadata(key, value) {
      return (target, property) => api.defineMetadata(key, value, target, property);
    },
  };
  Object.assign(Reflect, api);
}
