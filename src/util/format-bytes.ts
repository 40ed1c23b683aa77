/** A byte count as people read it: `812 B`, `4.2 KiB`, `118.3 MiB`, `2.1 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} ${units[0]!}` : `${value.toFixed(1)} ${units[unit]!}`;
}
