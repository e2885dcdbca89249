/**
 * MODEL_REPOSITORY's value as the platform writes it: the models a process serves beside its
 * default one, `name=reference` items joined by commas (the service parses and checks it in
 * service/registry/model-repository-setting.ts). A reference takes MODEL_STABLE's forms; a bare
 * alias or version is looked up under the item's name.
 */
export interface RepositoryEntry {
  readonly name: string;
  readonly reference: string;
}

export function modelRepositoryValue(models: readonly RepositoryEntry[]): string {
  return models.map(({ name, reference }) => `${name}=${reference}`).join(",");
}
