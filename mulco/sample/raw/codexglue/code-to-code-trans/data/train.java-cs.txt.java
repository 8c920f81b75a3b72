public int getCount() {return count;}
public void setName(String name) {this.name = name;}
public boolean isEmpty() {return size == 0;}
