using System.Runtime.InteropServices;
using Tmds.Linux;

namespace IoVirt.Hypervisor.Kvm;

/// <summary>
/// The pthread calls a vCPU kick needs, from libc itself: Tmds.LibC binds none of them or, for
/// pthread_sigmask, binds libpthread.so.0, a stub since glibc 2.34 that a minimal system lacks.
/// </summary>
internal static unsafe partial class PosixThread
{
    /// <summary>The calling thread's pthread_t (an opaque word on glibc).</summary>
    [LibraryImport("libc", EntryPoint = "pthread_self")]
    public static partial nuint Self();

    /// <summary>Sends <paramref name="signal"/> to one thread of this process; returns an errno, 0 on success.</summary>
    [LibraryImport("libc", EntryPoint = "pthread_kill")]
    public static partial int Kill(nuint thread, int signal);

    /// <summary>Changes the calling thread's blocked signals; returns an errno, 0 on success.</summary>
    [LibraryImport("libc", EntryPoint = "pthread_sigmask")]
    public static partial int SignalMask(int how, sigset_t* set, sigset_t* previous);
}
