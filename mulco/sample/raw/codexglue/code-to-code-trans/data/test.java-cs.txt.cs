public virtual long Length(){return end - start;}
public virtual void Close(){stream.Close();}
public virtual IDictionary<string, int> GetCounts(){return counts;}
