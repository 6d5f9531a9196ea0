/** How the playground shows an error: its Cairn code first, when it has one. */
export function ErrorText({ error }: { error: unknown }) {
  if (error === undefined) return null;
  const code = (error as { code?: unknown } | null)?.code;
  return (
    <output className="error" role="alert">
      {typeof code === 'string' ? `${code}: ` : ''}
      {error instanceof Error ? error.message : String(error)}
    </output>
  );
}
