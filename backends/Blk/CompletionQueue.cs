namespace IoVirt.Backends.Blk;

/// <summary>
/// Completions an engine produced inside its own calls, waiting to be taken in order. It grows
/// to the largest batch seen and then never allocates again.
/// </summary>
internal sealed class CompletionQueue
{
    private (ulong Tag, int Result)[] _items = new (ulong, int)[64];
    private int _head;
    private int _count;

    public bool IsEmpty => _count == 0;

    public void Add(ulong tag, int result)
    {
        if (_count == _items.Length)
        {
            var grown = new (ulong, int)[_items.Length * 2];
            for (var i = 0; i < _count; i++)
            {
                grown[i] = _items[(_head + i) % _items.Length];
            }

            _items = grown;
            _head = 0;
        }

        _items[(_head + _count) % _items.Length] = (tag, result);
        _count++;
    }

    public bool TryTake(out ulong tag, out int result)
    {
        if (_count == 0)
        {
            tag = 0;
            result = 0;
            return false;
        }

        (tag, result) = _items[_head];
        _head = (_head + 1) % _items.Length;
        _count--;
        return true;
    }
}
