using System.ComponentModel;
using System.Runtime.InteropServices;

namespace IoVirt.Interop;

/// <summary>Turns a failed syscall's errno into an exception; only setup paths call this.</summary>
public static class Errno
{
    public static Win32Exception Exception(string operation)
    {
        var errno = Tmds.Linux.LibC.errno;
        return new Win32Exception(errno, $"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }
}
