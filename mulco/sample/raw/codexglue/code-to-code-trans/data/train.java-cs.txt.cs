public virtual int GetCount(){return count;}
public virtual void SetName(string name){this.name = name;}
public virtual bool IsEmpty(){return size == 0;}
