// A nodatacow file stored through a MAP_SYNC mapping, flushed and fenced: with the
// mapSyncDurableFault switch off, crash images lose the fenced store (a crash violation on
// /f near byte 4096); with it on, none.
export function mapSyncScript(switchOff: boolean): string {
  return `${switchOff ? 'policy mapSyncDurableFault=off\n' : ''}create /f
setflag /f nodatacow
truncate /f 8192
commit
mmap m /f 0 8192 rw sync
mstore m 4096 64 seed 5
mflush m 4096 64
fence
`;
}
