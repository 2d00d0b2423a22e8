// Sets of file pages (4 KiB page numbers of a file) against byte ranges: a read asks whether
// a page dirtied through a mapping (its checksum not computed yet) lies in what it reads.

/** Does one of `pages` (file pages) overlap the byte range [from, to)? */
export function anyPageIn(pages: Set<number> | null, from: number, to: number,
  pageBytes: number): boolean {
  if (!pages) return false;
  for (const page of pages) if (page * pageBytes < to && (page + 1) * pageBytes > from) return true;
  return false;
}
