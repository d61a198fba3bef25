using System.Runtime.InteropServices;

namespace IoVirt.Sandbox;

/// <summary>A C array of NUL-terminated strings ending in a null pointer (execve's argv and envp), in native memory until disposed.</summary>
internal sealed unsafe class NullTerminatedStrings : IDisposable
{
    private readonly byte*[] _strings;

    public NullTerminatedStrings(IReadOnlyList<byte[]> strings)
    {
        _strings = new byte*[strings.Count];
        Pointer = (byte**)NativeMemory.AllocZeroed((nuint)(strings.Count + 1), (nuint)sizeof(byte*));
        for (var i = 0; i < strings.Count; i++)
        {
            var text = strings[i];
            var copy = (byte*)NativeMemory.AllocZeroed((nuint)text.Length + 1);
            text.CopyTo(new Span<byte>(copy, text.Length));
            _strings[i] = copy;
            Pointer[i] = copy;
        }
    }

    public byte** Pointer { get; }

    public void Dispose()
    {
        foreach (var text in _strings)
        {
            NativeMemory.Free(text);
        }

        NativeMemory.Free(Pointer);
    }
}
