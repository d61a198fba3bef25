using System.ComponentModel;
using System.Runtime.InteropServices;

namespace IoVirt.Interop;

/// <summary>Turns a failed syscall's errno into an exception; only setup paths call this.</summary>
public static class Errno
{
    /// <summary>The exception for the calling thread's current errno (Tmds.LibC keeps it).</summary>
    public static Win32Exception Exception(string operation) => Exception(operation, Tmds.Linux.LibC.errno);

    public static Win32Exception Exception(string operation, int errno) =>
        new(errno, $"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
}
