/** Deleting a closed store's OPFS files, so a long run does not fill the disk. */

/**
 * Removes the sahpool directory of a closed store. The path mirrors `installPool` in
 * worker/storage.ts (`/cairn/<encoded name>`); Cairn has no delete API yet, and a bench
 * only deletes stores it made itself.
 */
export async function removeOpfsStore(name: string): Promise<void> {
  const root = await navigator.storage.getDirectory();
  let parent: FileSystemDirectoryHandle;
  try {
    parent = await root.getDirectoryHandle('cairn');
  } catch {
    return; // nothing was ever stored
  }
  await parent.removeEntry(encodeURIComponent(name), { recursive: true }).catch((e: unknown) => {
    if ((e as { name?: string }).name !== 'NotFoundError') throw e;
  });
}
