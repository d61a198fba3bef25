namespace IoVirt.Virtqueue.Packed;

/// <summary>A position in a packed ring is a slot and a wrap counter, which flips each time the slot passes the end.</summary>
internal static class PackedRingPosition
{
    /// <summary>Moves (<paramref name="slot"/>, <paramref name="wrap"/>) on by <paramref name="slots"/> in a ring of <paramref name="size"/>.</summary>
    public static void Advance(ref ushort slot, ref bool wrap, int slots, int size)
    {
        var next = slot + slots;
        while (next >= size)
        {
            next -= size;
            wrap = !wrap;
        }

        slot = (ushort)next;
    }
}
