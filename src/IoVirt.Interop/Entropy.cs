using System.Runtime.InteropServices;

namespace IoVirt.Interop;

/// <summary>The kernel's random number generator through getrandom(2).</summary>
public static unsafe partial class Entropy
{
    /// <summary>Fills <paramref name="destination"/> with random bytes; blocks only until the kernel pool is initialised.</summary>
    public static void Fill(Span<byte> destination)
    {
        fixed (byte* p = destination)
        {
            var done = 0;
            while (done < destination.Length)
            {
                var n = GetRandom(p + done, (nuint)(destination.Length - done), 0);
                if (n < 0)
                {
                    var error = Marshal.GetLastPInvokeError();
                    if (error == Tmds.Linux.LibC.EINTR)
                    {
                        continue;
                    }

                    throw Errno.Exception("getrandom", error);
                }

                done += (int)n;
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "getrandom", SetLastError = true)]
    private static partial nint GetRandom(byte* buffer, nuint length, uint flags);
}
