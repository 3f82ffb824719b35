/* faults.h - fault injection, for tests: in the shim built with MT_FAULTS
 * (build/libmemtap-faults.so, `make tests`), MEMTAP_FAULT=KIND:N[+][,...]
 * makes the Nth of memtap's own calls of that kind fail (N+: the Nth and
 * every later one) with the errno the kernel would give:
 *
 *   open       the trace file, /proc files          EMFILE
 *   mmap       memtap's tables, the trace's pages   ENOMEM
 *   fallocate  the trace file's growth              ENOSPC
 *   thread     the sampler thread                   EAGAIN
 *
 * In the shim users run, mt_fault is a constant 0 and costs nothing. */
#ifndef MT_FAULTS_H
#define MT_FAULTS_H

enum mt_fault_kind { MT_FAULT_OPEN, MT_FAULT_MMAP, MT_FAULT_FALLOCATE, MT_FAULT_THREAD,
                     MT_FAULT_KINDS };

#ifdef MT_FAULTS
/* The errno this call of that kind is to fail with; 0: it goes on. */
int mt_fault(enum mt_fault_kind kind);
#else
static inline int mt_fault(enum mt_fault_kind kind)
{
    (void)kind;
    return 0;
}
#endif

#endif
