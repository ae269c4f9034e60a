/**
 * Features a broker may never use — cluster mode (the NATS client and the JetStream store), the
 * AMQP endpoint, JWT checks of external authentication — are imported where they are configured,
 * not when the process starts: a broker that does not use them does not carry their code and
 * libraries in its heap, and every full GC of a busy broker (a connect storm) marks less
 * (bench/RESULTS.md issue 15 §27). Each feature has one such seam, at the point that attaches it.
 */
export class FeatureLoadError extends Error {
  override readonly name = 'FeatureLoadError';
}

/**
 * Imports a configured feature's modules. A failure (a missing or broken dependency) names the
 * feature and the cause, so a start that configured it fails with one clear line.
 */
export async function loadFeature<T>(feature: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    throw new FeatureLoadError(`${feature} is configured but its code cannot be loaded: ${(err as Error).message ?? String(err)}`, { cause: err });
  }
}
