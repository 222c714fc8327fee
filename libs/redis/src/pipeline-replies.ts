/** The replies of a pipeline or MULTI (`exec()`), in order; the first error is thrown. */
export function pipelineReplies(results: Array<[Error | null, unknown]> | null): unknown[] {
  return (results ?? []).map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
